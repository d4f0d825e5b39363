"""`keras.preprocessing.image`: Keras 3's image file functions (as in `keras.utils`)."""

from eigennet.utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"]
